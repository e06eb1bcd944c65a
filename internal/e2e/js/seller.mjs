// A seller made with the mppx server API: it charges for its routes over MPP
// (evm/charge, Base Sepolia USDC) and, in the same 402, over x402, verifying
// the EIP-3009 signature itself; settlement is stubbed (no chain), and each
// settled payment is counted. The Go tests point an agent's paid_fetch at it.
// Usage: node seller.mjs   → prints {"url": "http://127.0.0.1:<port>"}, then serves
//   GET|POST /cheap   charges 0.01 USDC, answers {"data": "cheap", "body": <request body>}
//   GET      /dear    charges 2 USDC
//   GET      /free    no charge
//   GET      /greedy  charges 0.01 USDC, then asks for payment again (a fresh 402)
//   GET      /x402/cheap  /cheap with the 402's MPP challenge removed: x402 only
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
  let path = new URL(request.url).pathname;
  if (path === "/__paid") return json({ payments: paid });
  if (path === "/free") return json({ data: "free" });
  const x402Only = path.startsWith("/x402/");
  if (x402Only) path = path.slice("/x402".length);
  const amount = { "/cheap": "0.01", "/dear": "2", "/greedy": "0.01" }[path];
  if (!amount) return json({ error: "not found" }, 404);
  const body = request.method === "POST" ? await request.clone().text() : undefined;
  const charge = mppx.charge({ amount, description: "seller " + path });
  const result = await charge(request);
  if (result.status === 402) {
    if (!x402Only) return result.challenge;
    const headers = new Headers(result.challenge.headers);
    headers.delete("www-authenticate");
    return new Response(await result.challenge.text(), { status: 402, headers });
  }
  if (path === "/greedy") return (await charge(new Request(request.url))).challenge;
  return result.withReceipt(json({ data: path.slice(1), body }));
}

const server = http.createServer(MppRequest.toNodeListener(handler));
server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` }));
});
