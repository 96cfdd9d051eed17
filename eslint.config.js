import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.dist-*/', 'native/build/', 'bin/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Plugins must never build shell command lines: execa with argument arrays only.
      'no-restricted-imports': ['error', { paths: [{ name: 'node:child_process', importNames: ['exec', 'execSync'], message: 'never use a shell: execa with an argument array' }] }],
    },
  },
  {
    // The one CommonJS file: the start-up shim the launchers run (it must load before any bundle).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests poke at JSON a plugin printed; typing every shape would only restate the assertions.
    files: ['**/*.test.ts', 'integration/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
