// Signs a sign-in with Ethereum message the way a web app does with viem:
// createSiweMessage, then personal_sign by a local account. Reads
// {privateKey, domain, uri, chainId, nonce, issuedAt, statement?, expirationTime?}
// as JSON on stdin; prints {address, message, signature}. The chain tests run it
// (core/chain/chaintest.Node).
import { privateKeyToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const req = JSON.parse(input);
const account = privateKeyToAccount(req.privateKey);
const message = createSiweMessage({
  address: account.address,
  domain: req.domain,
  uri: req.uri,
  version: '1',
  chainId: req.chainId,
  nonce: req.nonce,
  issuedAt: new Date(req.issuedAt),
  ...(req.expirationTime ? { expirationTime: new Date(req.expirationTime) } : {}),
  ...(req.statement ? { statement: req.statement } : {}),
});
const signature = await account.signMessage({ message });
process.stdout.write(JSON.stringify({ address: account.address, message, signature }) + '\n');
