// gen.mjs writes vectors.json: EIP-712 / EIP-3009 TransferWithAuthorization
// digests and signatures, keccak256 answers and EIP-55 addresses, all computed
// by viem (an independent implementation), for the Go tests of core/evm.
//
// Rerun from the repository root (needs the pinned npm packages of
// internal/e2e/js; run `npm ci` there first if node_modules is missing):
//
//	node core/evm/testdata/gen.mjs
//
// viem is imported by a path relative to this file, since NODE_PATH does not
// apply to ES modules. Signatures are deterministic (RFC 6979), so rerunning
// reproduces the same file byte for byte.
import { writeFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  getAddress, hashDomain, hashTypedData, isAddress, keccak256, recoverTypedDataAddress, toHex,
} from '../../../internal/e2e/js/node_modules/viem/_esm/index.js';
import { privateKeyToAccount } from '../../../internal/e2e/js/node_modules/viem/_esm/accounts/index.js';

const viemVersion = JSON.parse(readFileSync(
  new URL('../../../internal/e2e/js/node_modules/viem/package.json', import.meta.url))).version;

// Public test keys only: Anvil/Hardhat accounts #0-#2, the key 1, and one derived from a label.
const keys = [
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d', // Anvil #1, 0x7099…79C8
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80', // Anvil #0
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a', // Anvil #2
  '0x0000000000000000000000000000000000000000000000000000000000000001',
  keccak256(toHex('agentbot/core/evm test key 4')),
];

// The domain type is always the full four-field one (viem would otherwise
// drop an empty version), matching evm.Domain.
const types = {
  EIP712Domain: [
    { name: 'name', type: 'string' },
    { name: 'version', type: 'string' },
    { name: 'chainId', type: 'uint256' },
    { name: 'verifyingContract', type: 'address' },
  ],
  TransferWithAuthorization: [
    { name: 'from', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'validAfter', type: 'uint256' },
    { name: 'validBefore', type: 'uint256' },
    { name: 'nonce', type: 'bytes32' },
  ],
};

const domains = {
  baseSepoliaUSDC: { name: 'USDC', version: '2', chainId: 84532n, verifyingContract: '0x036CbD53842c5426634e7929541eC2318f3dCF7e' },
  baseUSDC: { name: 'USD Coin', version: '2', chainId: 8453n, verifyingContract: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913' },
  celoUSDC: { name: 'USDC', version: '2', chainId: 42220n, verifyingContract: '0xcebA9300f2b948710d2653dD7B07f33A8B32118C' },
  unicode: { name: 'Tëst Tøken ✓ 🚀', version: '1.0-β', chainId: 11142220n, verifyingContract: '0x742d35Cc6634C0532925a3b844Bc454e4438f44e' },
  empty: { name: '', version: '', chainId: 1n, verifyingContract: '0x0000000000000000000000000000000000000000' },
  maxInt64Chain: { name: 'USDC', version: '2', chainId: 9223372036854775807n, verifyingContract: '0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF' },
};

const max256 = (1n << 256n) - 1n;
const nonce = (label) => keccak256(toHex(label));
const payTo = '0x742d35Cc6634C0532925a3b844Bc454e4438f44e';

// [name, key index, domain, to, value, validAfter, validBefore, nonce]
const cases = [
  ['anvil1 base-sepolia 0.01 USDC', 0, 'baseSepoliaUSDC', payTo, 10000n, 0n, 1795938521n, nonce('x402 nonce 1')],
  ['anvil1 base-sepolia other nonce', 0, 'baseSepoliaUSDC', payTo, 10000n, 0n, 1795938521n, nonce('x402 nonce 2')],
  ['anvil1 base-sepolia 1 unit', 0, 'baseSepoliaUSDC', payTo, 1n, 1700000000n, 1700000300n, nonce('x402 nonce 3')],
  ['anvil0 base mainnet', 1, 'baseUSDC', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', 2500000n, 0n, 1800000000n, nonce('x402 nonce 4')],
  ['anvil2 celo', 2, 'celoUSDC', payTo, 123456789n, 5n, 1800000000n, nonce('x402 nonce 5')],
  ['key 1 unicode domain', 3, 'unicode', payTo, 0n, 0n, 1n, '0x' + '00'.repeat(32)],
  ['derived key empty domain', 4, 'empty', '0x0000000000000000000000000000000000000000', max256, max256, max256, '0x' + 'ff'.repeat(32)],
  ['anvil1 max int64 chain id', 0, 'maxInt64Chain', payTo, 10n ** 30n, 0n, 2n ** 64n, nonce('x402 nonce 8')],
  ['anvil0 base-sepolia self-transfer', 1, 'baseSepoliaUSDC', '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 10000n, 0n, 1795938521n, nonce('x402 nonce 9')],
  ['anvil2 base-sepolia', 2, 'baseSepoliaUSDC', payTo, 999999n, 0n, 1795938521n, nonce('x402 nonce 10')],
];

const transfers = [];
for (const [name, k, d, to, value, validAfter, validBefore, n] of cases) {
  const account = privateKeyToAccount(keys[k]);
  const domain = domains[d];
  const message = { from: account.address, to, value, validAfter, validBefore, nonce: n };
  const typed = { domain, types, primaryType: 'TransferWithAuthorization', message };
  const signature = await account.signTypedData(typed);
  if (await recoverTypedDataAddress({ ...typed, signature }) !== account.address) throw new Error(`${name}: viem cannot recover its own signer`);
  transfers.push({
    name,
    signer: account.address,
    domain: { name: domain.name, version: domain.version, chainId: domain.chainId.toString(), verifyingContract: domain.verifyingContract },
    message: { from: message.from, to, value: value.toString(), validAfter: validAfter.toString(), validBefore: validBefore.toString(), nonce: n },
    domainSeparator: hashDomain({ domain, types }),
    digest: hashTypedData(typed),
    signature,
  });
}

// keccak256 over byte strings around the 136-byte rate.
const bytes = (n, f) => toHex(Uint8Array.from({ length: n }, (_, i) => f(i)));
const keccakInputs = ['0x', toHex('a'), toHex('hello world'), bytes(135, (i) => i), bytes(136, (i) => 255 - i), bytes(137, (i) => i * 7), bytes(300, (i) => i ^ 0x5a)];
const keccak = keccakInputs.map((input) => ({ input, hash: keccak256(input) }));

// EIP-55: lower-case addresses with viem's getAddress, and mixed-case inputs
// with viem's strict isAddress verdict (one letter's case flipped = invalid).
const addresses = [];
for (let i = 0; i < 24; i++) {
  const lower = '0x' + keccak256(toHex(`address ${i}`)).slice(26);
  addresses.push({ input: lower, checksummed: getAddress(lower) });
}
addresses.push({ input: '0x0000000000000000000000000000000000000000', checksummed: getAddress('0x0000000000000000000000000000000000000000') });
addresses.push({ input: '0xffffffffffffffffffffffffffffffffffffffff', checksummed: getAddress('0xffffffffffffffffffffffffffffffffffffffff') });
const mixedCase = [];
for (const { checksummed } of addresses) {
  const j = [...checksummed].findIndex((c, i) => i > 1 && /[a-fA-F]/.test(c));
  if (j < 0) continue;
  const c = checksummed[j];
  const flipped = checksummed.slice(0, j) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + checksummed.slice(j + 1);
  for (const input of [checksummed, flipped]) {
    if (input.toLowerCase() === input || input.slice(2).toUpperCase() === input.slice(2)) continue; // not mixed case
    mixedCase.push({ input, valid: isAddress(input, { strict: true }) });
  }
}

const out = { generator: `core/evm/testdata/gen.mjs with viem ${viemVersion}`, transfers, keccak, addresses, mixedCase };
writeFileSync(fileURLToPath(new URL('./vectors.json', import.meta.url)), JSON.stringify(out, null, 2) + '\n');
console.log(`wrote ${transfers.length} transfers, ${keccak.length} keccak, ${addresses.length} addresses, ${mixedCase.length} mixed-case`);
