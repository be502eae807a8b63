// eslint flat config for the browser check page and its tests (npm ci && npx eslint ...).
export default [
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: {
        document: 'readonly', location: 'readonly', navigator: 'readonly', fetch: 'readonly',
        RTCPeerConnection: 'readonly', URLSearchParams: 'readonly', performance: 'readonly',
        setTimeout: 'readonly', clearTimeout: 'readonly', console: 'readonly', process: 'readonly',
      },
    },
    rules: {
      'no-unused-vars': 'error', 'no-undef': 'error', 'prefer-const': 'error', 'no-var': 'error',
      eqeqeq: 'error', curly: ['error', 'multi-line'], 'no-shadow': 'error',
    },
  },
];
