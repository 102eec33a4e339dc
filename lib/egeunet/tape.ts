// A small reverse-mode tape for the network's forward: each step records how to
// send its output's gradient back to its inputs, and gradients of a tensor read
// by several steps are summed. Nothing is recorded for an inference forward.
import { Tensor } from '../tensor';

/** The gradients flowing back, by tensor. */
export class Tape {
  private readonly steps: Array<() => void> = [];
  private readonly grads = new Map<Tensor, Tensor>();

  /** Records one step's backward (run in reverse order of recording). */
  record(step: () => void): void {
    this.steps.push(step);
  }

  /** The gradient reaching `t` so far, or undefined when none does. */
  grad(t: Tensor): Tensor | undefined {
    return this.grads.get(t);
  }

  /** Adds `g` to `t`'s gradient (taking `g` itself when it is the first). */
  add(t: Tensor, g: Tensor): void {
    const have = this.grads.get(t);
    if (!have) {
      this.grads.set(t, g);
      return;
    }
    const a = have.data, b = g.data;
    for (let i = 0; i < a.length; i++) a[i] += b[i];
  }

  /** Runs every recorded step backward, once. */
  run(): void {
    for (let i = this.steps.length - 1; i >= 0; i--) this.steps[i]();
    this.steps.length = 0;
  }
}
