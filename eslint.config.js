// Lint rules: typescript-eslint's recommended set, plus the project's own bans (focused tests, bare
// JSON.parse outside the safe helper, console in library code).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";
import reactHooks from "eslint-plugin-react-hooks";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/dist-extension/**", "**/node_modules/**", "data/**", "coverage/**", ".bench-tmp/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2023, sourceType: "module" },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-restricted-properties": ["error", { object: "describe", property: "only" }, { object: "it", property: "only" }, { object: "test", property: "only" }],
    },
  },
  {
    files: ["packages/*/src/**/*.ts", "packages/*/src/**/*.tsx"],
    ignores: ["**/*.test.ts", "packages/protocol/src/parse-json.ts"],
    rules: {
      "no-restricted-syntax": ["error", { selector: "CallExpression[callee.object.name='JSON'][callee.property.name='parse']", message: "Use parseJson from @kai/protocol: untrusted text must not throw or pollute prototypes." }],
    },
  },
  // The CLI loads the server package only inside the commands that need it (`await import("@kai/server")`): a static
  // import costs every `kai` invocation seconds (it loads the whole server: sharp, the AWS SDK, …).
  {
    files: ["packages/cli/src/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        { paths: [{ name: "@kai/server", message: "Import the server lazily inside the command: await import(\"@kai/server\").", allowTypeImports: true }] },
      ],
    },
  },
  // The web app: browser globals, and React's rules of hooks (a hook called conditionally breaks state silently).
  {
    files: ["packages/web/src/**/*.{ts,tsx}"],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { "react-hooks": reactHooks },
    rules: { "react-hooks/rules-of-hooks": "error", "react-hooks/exhaustive-deps": "error" },
  },
);
