// A seller made with the mppx server API: it charges for its routes over MPP
// (evm/charge, Base Sepolia USDC) and, in the same 402, over x402, verifying
// the EIP-3009 signature itself; settlement is stubbed (no chain), and each
// settled payment is counted. The Go tests point an agent's paid_fetch at it.
// Usage: node seller.mjs   → prints {"url": "http://127.0.0.1:<port>"}, then serves
//   GET|POST /cheap   charges 0.01 USDC, answers {"data": "cheap", "body": <request body>}
//   GET      /dear    charges 2 USDC
//   GET      /free    no charge
//   GET      /__paid  the settled payments so far (free; for the test)
import http from "node:http";
import { randomBytes } from "node:crypto";
import { Mppx, evm, Request as MppRequest } from "mppx/server";

const paid = [];
const mppx = Mppx.create({
  secretKey: randomBytes(32).toString("base64"),
  realm: "seller.test",
  methods: [
    evm.charge({
      currency: evm.assets.baseSepolia.USDC,
      recipient: "0x742d35Cc6634C0532925a3b844Bc9e7595f8fE00",
      settle: async ({ payload, source }) => {
        const reference = "0x" + randomBytes(32).toString("hex");
        paid.push({ from: payload.from, value: payload.value, nonce: payload.nonce, source, reference });
        return { reference };
      },
    }),
  ],
});

const json = (v, status = 200) => new Response(JSON.stringify(v), { status, headers: { "content-type": "application/json" } });

async function handler(request) {
  const path = new URL(request.url).pathname;
  if (path === "/__paid") return json({ payments: paid });
  if (path === "/free") return json({ data: "free" });
  const amount = { "/cheap": "0.01", "/dear": "2" }[path];
  if (!amount) return json({ error: "not found" }, 404);
  const body = request.method === "POST" ? await request.clone().text() : undefined;
  const result = await mppx.charge({ amount, description: "seller " + path })(request);
  if (result.status === 402) return result.challenge;
  return result.withReceipt(json({ data: path.slice(1), body }));
}

const server = http.createServer(MppRequest.toNodeListener(handler));
server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` }));
});
