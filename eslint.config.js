// Lint rules: the TypeScript recommended set, plus a few that catch real bugs in this codebase.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layering from './hack/eslint-layering.js';

export default tseslint.config(
  { ignores: ['build/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    // The folders of src/ follow the data and nothing imports backwards (docs/architecture.md).
    files: ['src/**/*.ts'],
    plugins: { layering },
    rules: { 'layering/no-backward-import': 'error', 'layering/no-cycle': 'error' },
  },
);
