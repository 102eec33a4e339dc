#!/usr/bin/env node
// Lists the C++ sources of one part of the addon for binding.gyp (node-gyp has
// no globs): `core` (core + scalar reference + addon glue), `avx2`, `avx512`.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const list = (dir, test) =>
  fs.existsSync(path.join(root, dir))
    ? fs.readdirSync(path.join(root, dir)).filter(test).sort().map((f) => `${dir}/${f}`)
    : [];
const part = process.argv[2];
const files =
  part === 'core'
    ? [...list('native/src/core', (f) => f.endsWith('.cc')), ...list('native/src/cpu/ref', (f) => f.endsWith('.cc')),
       ...list('native/addon', (f) => f.endsWith('.cc'))]
    : list('native/src/cpu/x86', (f) => f.endsWith(`_${part}.cc`));
process.stdout.write(files.join(' '));
