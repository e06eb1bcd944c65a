// gen.mjs writes headers.json: real x402 v2 headers made by the official
// @x402/core 2.27.0 and @x402/evm 2.27.0 packages, for the Go tests of
// core/x402: a PAYMENT-REQUIRED for 0.01 USDC on Base Sepolia, the
// PAYMENT-SIGNATURE that @x402/evm's ExactEvmScheme client answers with
// (signed by the public Anvil test account #1), and a PAYMENT-RESPONSE.
//
// Rerun from the repository root (needs internal/e2e/js/node_modules):
//
//	node core/x402/testdata/gen.mjs
//
// The packages are imported by paths relative to this file, since NODE_PATH
// does not apply to ES modules. The client picks a random nonce and
// validBefore = now + maxTimeoutSeconds, so each run writes different
// signatures; no test depends on the time.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const js = '../../../internal/e2e/js/node_modules/';
const { encodePaymentRequiredHeader, encodePaymentResponseHeader, encodePaymentSignatureHeader } = await import(js + '@x402/core/dist/esm/http/index.mjs');
const { x402Client } = await import(js + '@x402/core/dist/esm/client/index.mjs');
const { ExactEvmScheme } = await import(js + '@x402/evm/dist/esm/exact/client/index.mjs');
const { privateKeyToAccount } = await import(js + 'viem/_esm/accounts/index.js');

const account = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');

const paymentRequired = {
  x402Version: 2,
  error: 'Payment required',
  resource: { url: 'http://127.0.0.1:8080/api/v1/gateway', description: 'gateway call <&>', mimeType: 'application/json' },
  accepts: [{
    scheme: 'exact',
    network: 'eip155:84532',
    amount: '10000',
    asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
    payTo: '0x742d35Cc6634C0532925a3b844Bc454e4438f44e',
    maxTimeoutSeconds: 300,
    extra: { name: 'USDC', version: '2' },
  }],
};

const client = new x402Client().register('eip155:*', new ExactEvmScheme(account));
const payload = await client.createPaymentPayload(paymentRequired);

const settle = {
  success: true,
  transaction: '0x' + 'ab'.repeat(32),
  network: 'eip155:84532',
  payer: account.address,
};

const out = {
  generator: 'core/x402/testdata/gen.mjs with @x402/core 2.27.0, @x402/evm 2.27.0',
  signer: account.address,
  paymentRequired: encodePaymentRequiredHeader(paymentRequired),
  paymentSignature: encodePaymentSignatureHeader(payload),
  paymentResponse: encodePaymentResponseHeader(settle),
};
writeFileSync(fileURLToPath(new URL('./headers.json', import.meta.url)), JSON.stringify(out, null, 2) + '\n');
console.log(JSON.stringify(payload, null, 2));
