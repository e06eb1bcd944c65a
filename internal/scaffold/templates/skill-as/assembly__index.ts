// A skill in AssemblyScript (made by agentbot skills new --lang as). It
// answers two actions: "hello" greets {"name"}, and "count" increments a
// counter kept in the skill's key-value store, which the platform scopes to
// the calling user and agent. Change them; declare each action in
// manifest.json. `agentbot skills test`, `build`, `publish .`.

import { Call, Failure, Obj, route, badRequest } from "@agentbot/skill-as";
export { agentbot_run } from "@agentbot/skill-as";

route()
  .on("hello", hello) // {"action": "hello", "name": "Ada"}
  .on("count", count); // {"action": "count"}: a per-user counter in the skill's KV

// hello: {"action":"hello","name":"Ada"} → {"greeting":"Hello, Ada!"}.
function hello(c: Call): Failure | null {
  const name = c.object().getString("name");
  if (name == null || name.length == 0) return badRequest("name is required");
  c.outputJSON(new Obj().setString("greeting", "Hello, " + name + "!"));
  return null;
}

// count: {"action":"count"} → {"count":n}, n going up by one per call.
function count(c: Call): Failure | null {
  const v = c.kv.getString("count");
  const n = (v == null ? 0 : I64.parseInt(v)) + 1;
  c.kv.setString("count", n.toString());
  c.outputJSON(new Obj().setInteger("count", n));
  return null;
}
