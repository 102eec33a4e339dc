// The bench's onnxruntime baseline leaves nothing behind: no /tmp/mat-debug-<pid>.log,
// nothing under the user's ~/.cache (onnxruntime-node's telemetry is off).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadOrt } from '../bench/onnx_matmul';

test('an onnxruntime MatMul baseline writes no debug log and nothing in the home directory', (t) => {
  if (!loadOrt()) {
    t.pass('onnxruntime-node is not installed (a devDependency): nothing to check');
    return;
  }
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'frugal-home-'));
  const bench = path.join(__dirname, '..', 'bench', 'onnx_matmul.js');
  const script = `
    const { loadOrt, ortMatmul } = require(${JSON.stringify(bench)});
    (async () => { const f = await ortMatmul(loadOrt(), new Float32Array(16), new Float32Array(16), 4, 4, 4, 1); await f(); })();`;
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CACHE_HOME: '' };
  delete env.ORT_DISABLE_TELEMETRY;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env });
  t.is(r.status, 0, r.stderr);
  t.false(fs.existsSync(`/tmp/mat-debug-${r.pid}.log`), 'no /tmp/mat-debug log');
  t.deepEqual(fs.readdirSync(home), [], 'nothing written under HOME');
});
