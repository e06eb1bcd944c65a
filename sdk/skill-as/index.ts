// The package's AssemblyScript entry: `import … from "@agentbot/skill-as"`
// resolves here (asc looks for index.ts at a package's root).
export * from "./assembly/index";
