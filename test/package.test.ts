import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const node = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });

test('require("frugal") and import from "frugal" both work from the checkout', (t) => {
  const cjs = node(['-e', 'const f = require("frugal"); console.log(typeof f.Tensor, typeof f.info)']);
  t.is(cjs.stdout.trim(), 'function function', cjs.stderr);
  const esm = node(['--input-type=module', '-e', 'import { Tensor, info } from "frugal"; console.log(typeof Tensor, typeof info)']);
  t.is(esm.stdout.trim(), 'function function', esm.stderr);
});

test('a missing addon gives E_NATIVE saying why and what to run', (t) => {
  const r = node(
    ['-e', 'try { require("frugal").info() } catch (e) { console.log(e.code); console.log(e.message) }'],
    { FRUGAL_ADDON: '/nonexistent/frugal.node' },
  );
  const [code, message] = r.stdout.split('\n');
  t.is(code, 'E_NATIVE');
  t.regex(message, /nonexistent\/frugal\.node/);
  t.regex(message, /npm run build:native/);
});
