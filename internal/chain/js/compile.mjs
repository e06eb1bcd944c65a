// Rebuilds the committed contract bytecode with solc 0.8.28 (the version the
// lockfile pins): every .sol file in the directories below is compiled with the
// same settings, and each contract named in `outputs` gets its creation code
// written beside its source as <Contract>.hex ("0x…" and a newline). Settings
// that make the output depend only on the source: no metadata hash; the IR
// pipeline (the reference validator is "stack too deep" without it); and the
// Paris EVM (no PUSH0), so the code also runs on chains that lag behind.
//
//   cd internal/chain/js && npm ci && node compile.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import solc from 'solc';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const outputs = {
  'core/evm/contracts': ['ValidateSigOffchain'],
  'core/chain/chaintest/contracts': ['TestToken', 'TestWallet', 'TestWalletFactory', 'TestENSRegistry', 'TestENSResolver', 'TestIndexer'],
};

for (const [dir, wanted] of Object.entries(outputs)) {
  const sources = {};
  for (const f of fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.sol')).sort()) {
    sources[f] = { content: fs.readFileSync(path.join(root, dir, f), 'utf8') };
  }
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      evmVersion: 'paris',
      viaIR: true, // the reference validator is "stack too deep" without it
      optimizer: { enabled: true, runs: 200 },
      metadata: { bytecodeHash: 'none', appendCBOR: false },
      outputSelection: { '*': { '*': ['evm.bytecode.object'] } },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors || []).filter((e) => e.severity === 'error');
  for (const e of out.errors || []) console.error(e.formattedMessage);
  if (errors.length) process.exit(1);
  const found = {};
  for (const file of Object.keys(out.contracts)) {
    for (const [name, c] of Object.entries(out.contracts[file])) found[name] = c.evm.bytecode.object;
  }
  for (const name of wanted) {
    if (!found[name]) throw new Error(`${dir}: no contract ${name}`);
    const file = path.join(dir, `${name}.hex`);
    fs.writeFileSync(path.join(root, file), `0x${found[name]}\n`);
    console.log(`${file}: ${found[name].length / 2} bytes`);
  }
}
console.log(`solc ${solc.version()}`);
