// Type-aware linting: no-floating-promises catches un-awaited I/O in providers and agents.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "bin/**", "eslint.config.mjs", ".zeroroot/**", "policies/dist/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-imports": "off",
    },
  },
  {
    // DESIGN.md layers: lib/ and agents/ never pull in the Pulumi SDK.
    files: ["lib/**/*.ts", "agents/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@pulumi/*"],
              message: "lib/ and agents/ must not import the Pulumi SDK (DESIGN.md, Layers).",
            },
          ],
        },
      ],
    },
  },
);
