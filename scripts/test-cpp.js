#!/usr/bin/env node
// Builds the C++ core with plain CMake (no Node, FRUGAL_ADDON=OFF) and runs its tests with ctest.
// The build folder is build-core/; CUDA is compiled when nvcc is found (FRUGAL_CUDA overrides).
'use strict';
const { execFileSync } = require('node:child_process');
const os = require('node:os');

const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });
try {
  run('cmake', ['-S', '.', '-B', 'build-core', '-DFRUGAL_ADDON=OFF', '-DCMAKE_BUILD_TYPE=Release']);
  run('cmake', ['--build', 'build-core', '-j', String(os.availableParallelism?.() ?? os.cpus().length)]);
  run('ctest', ['--test-dir', 'build-core', '--output-on-failure']);
} catch (err) {
  process.exit(typeof err.status === 'number' ? err.status : 1);
}
