// FreezePlan: which parameters are frozen, by globs over dotted parameter names
// (encoder.layer.3.attention.self.query.weight). A frozen parameter's mask options
// become p = 1 at tensor granularity, so graddrop.linearGrad skips its GEMM.
import { FrugalError, describe } from '../errors';
import { checkOptions, optionKeys } from '../validate';
import { checkMaskOptions, type MaskOptions } from './schedule';

/** Options of {@link FreezePlan}. */
export interface FreezePlanOptions {
  /** Globs of the frozen parameters (may be empty). */
  frozen: readonly string[];
  /** Globs of parameters that train even where a `frozen` glob matches them. Default none. */
  trainable?: readonly string[];
}

const PLAN_KEYS = optionKeys<FreezePlanOptions>({ frozen: true, trainable: true });

// Characters with a meaning in a RegExp; a glob takes them literally ('*' is handled before).
const REGEXP_SPECIALS = /[\\^$.|?+()[\]{}]/g;

// '**' → any run, dots included ('s': newlines too); '*' → any run within one dotted
// segment; the rest literal. The split keeps the stars (capturing group), longest first
// so '**' is never read as two '*'.
function globToRegExp(glob: string): RegExp {
  const body = glob
    .split(/(\*\*|\*)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^.]*' : part.replace(REGEXP_SPECIALS, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 's');
}

function checkGlobs(value: unknown, name: string): readonly string[] {
  if (!Array.isArray(value)) throw new FrugalError('E_DTYPE', `${name}: expected an array of glob strings, got ${describe(value)}`);
  value.forEach((glob, i) => {
    if (typeof glob !== 'string') throw new FrugalError('E_DTYPE', `${name}[${i}]: expected a glob string, got ${describe(glob)}`);
    if (glob.length === 0) throw new FrugalError('E_RANGE', `${name}[${i}]: expected a non-empty glob, got ""`);
  });
  return Object.freeze([...(value as string[])]);
}

function checkName(value: unknown): string {
  if (typeof value !== 'string') throw new FrugalError('E_DTYPE', `name: expected a parameter name (a string), got ${describe(value)}`);
  return value;
}

/**
 * Which parameters are frozen, by globs over dotted names. In a glob `*` matches any run
 * of characters without a dot (one segment or part of one, possibly empty), `**` any run
 * with dots (so `encoder.**` is everything under `encoder`, and `a.**.b` needs at least one
 * segment between a and b); every other character, `.` included, is literal. A name is
 * frozen iff some `frozen` glob matches all of it and no `trainable` glob does.
 * @example
 * const plan = new FreezePlan({ frozen: ['embeddings.**', 'encoder.layer.*.attention.**'], trainable: ['**.bias'] });
 * plan.isFrozen('encoder.layer.3.attention.self.query.weight'); // true
 * plan.isFrozen('encoder.layer.3.attention.self.query.bias');   // false: trainable wins
 * const mask = plan.options(name, schedule.options(l, { step, epoch, seed }));
 */
export class FreezePlan {
  /** The `frozen` globs, as given. */
  readonly frozen: readonly string[];
  /** The `trainable` globs, as given (empty by default). */
  readonly trainable: readonly string[];
  readonly #frozen: readonly RegExp[];
  readonly #trainable: readonly RegExp[];

  /**
   * @throws FrugalError E_DTYPE (options not a plain object, frozen or trainable not an array,
   *   a glob not a string), E_CONFIG (an unknown option), E_RANGE (an empty glob).
   */
  constructor(options: FreezePlanOptions) {
    const o = checkOptions<FreezePlanOptions>(options, 'options', PLAN_KEYS);
    this.frozen = checkGlobs(o.frozen, 'options.frozen');
    this.trainable = o.trainable === undefined ? Object.freeze([]) : checkGlobs(o.trainable, 'options.trainable');
    this.#frozen = this.frozen.map(globToRegExp);
    this.#trainable = this.trainable.map(globToRegExp);
  }

  /**
   * Whether the parameter `name` is frozen.
   * @throws FrugalError E_DTYPE (name not a string).
   * @example new FreezePlan({ frozen: ['encoder.*.weight'] }).isFrozen('encoder.0.weight') // true
   */
  isFrozen(name: string): boolean {
    const n = checkName(name);
    return this.#frozen.some((re) => re.test(n)) && !this.#trainable.some((re) => re.test(n));
  }

  /**
   * The mask options of parameter `name`: for a frozen one `{ ...base, p: 1, granularity:
   * 'tensor' }` without `block` (which only goes with granularity 'block'), else a checked
   * copy of `base` with the same values.
   * @throws FrugalError E_DTYPE (name not a string), and as {@link checkMaskOptions} for base
   *   (named `base.…`).
   * @example
   * const plan = new FreezePlan({ frozen: ['embeddings.**'] });
   * plan.options('embeddings.word.weight', { p: 0.1, granularity: 'row', seed: 7, step: 3, layer: 0 }); // p: 1, granularity: 'tensor'
   */
  options(name: string, base: MaskOptions): MaskOptions {
    const frozen = this.isFrozen(name);
    const checked = checkMaskOptions(base, 'base');
    if (!frozen) return checked;
    const { block: _block, ...rest } = checked;
    return { ...rest, p: 1, granularity: 'tensor' };
  }
}
