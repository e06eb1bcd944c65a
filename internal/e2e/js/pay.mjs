// Pays the gateway with the unmodified reference clients of both HTTP 402
// protocols: mppx (MPP, "Payment" auth scheme) and @x402/fetch + @x402/evm.
// Usage: node pay.mjs <mode> <gatewayURL> <pluginId> [<pluginId for the challenge>]
//   mpp-fetch   pay one call through Mppx.fetch; print status, receipt, body
//   mpp-sign    get a 402 for the challenge's plugin and print the credential
//               mppx makes for it (the Go test replays and redirects it)
//   x402        pay one call through @x402/fetch; print status, PAYMENT-RESPONSE
//               and the PAYMENT-SIGNATURE the client sent
// The private key comes from MPPX_PRIVATE_KEY. Prints one JSON line.
import { privateKeyToAccount } from "viem/accounts";
import { Mppx, evm } from "mppx/client";
import { wrapFetchWithPaymentFromConfig, decodePaymentResponseHeader } from "@x402/fetch";
import { ExactEvmScheme } from "@x402/evm/exact/client";

const [mode, url, plugin, challengePlugin] = process.argv.slice(2);
const account = privateKeyToAccount(process.env.MPPX_PRIVATE_KEY);
const init = (id) => ({
  method: "POST",
  headers: { "content-type": "application/json", "x-plugin-id": id },
  body: JSON.stringify({ message: "paid by " + mode }),
});

const mppx = Mppx.create({
  polyfill: false,
  methods: [evm({ account, currencies: [evm.assets.baseSepolia.USDC] })],
});

let out;
switch (mode) {
  case "mpp-fetch": {
    const res = await mppx.fetch(url, init(plugin));
    out = { status: res.status, receipt: res.headers.get("payment-receipt"), body: await res.json() };
    break;
  }
  case "mpp-sign": {
    const res = await fetch(url, init(challengePlugin ?? plugin));
    if (res.status !== 402) throw new Error("expected a 402, got " + res.status);
    out = { credential: await mppx.createCredential(res) };
    break;
  }
  case "x402": {
    let sent = null;
    const recording = async (input, reqInit) => {
      const req = new Request(input, reqInit);
      if (req.headers.get("payment-signature")) sent = req.headers.get("payment-signature");
      return fetch(req);
    };
    const pay = wrapFetchWithPaymentFromConfig(recording, {
      schemes: [{ network: "eip155:*", client: new ExactEvmScheme(account) }],
    });
    const res = await pay(url, init(plugin));
    const header = res.headers.get("payment-response");
    out = {
      status: res.status,
      paymentResponse: header ? decodePaymentResponseHeader(header) : null,
      signature: sent,
      body: await res.json(),
    };
    break;
  }
  default:
    throw new Error("unknown mode " + mode);
}
console.log(JSON.stringify(out));
