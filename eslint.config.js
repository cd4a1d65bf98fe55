import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // The peers' programs import packages the benchmark installs on demand, not the root.
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '.cads/**',
      'coverage/**',
      'test-results/**',
      'bench/peers/restate/**',
      'bench/peers/dbos/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/ban-ts-comment': [
        'error',
        { 'ts-expect-error': 'allow-with-description' },
      ],
      'no-console': 'off',
    },
  },
  {
    // Services talk through events: another service's code is off limits, its contracts are not.
    files: ['services/*/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['order', 'restaurant', 'rider', 'payment', 'externals', 'notifications'].map(
            (service) => ({
              name: `@cads/${service}`,
              message: `import @cads/${service}/contracts only`,
            }),
          ),
        },
      ],
    },
  },
  {
    // A service's decisions are pure: no I/O, no framework, no Node built-ins.
    files: ['services/*/src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'domain code does no I/O' },
            {
              group: ['fastify', 'pg', '@electric-sql/*', '@nats-io/*', '@cads/*'],
              message: 'domain code imports no framework or adapter',
            },
          ],
        },
      ],
    },
  },
  {
    // The web app runs in the browser and takes only types from the contracts, so no server
    // code (or TypeBox) enters its bundle; server text is rendered through Lit's escaping. Its
    // one runtime import is the saga verdict, pure and schema-free, so the page decides a
    // saga's state exactly as the server does.
    files: ['apps/web/src/**/*.ts'],
    languageOptions: {
      globals: { ...globals.browser },
    },
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@cads/(?!saga/verdict$)',
              allowTypeImports: true,
              message:
                'the web app imports only types from @cads packages (and @cads/saga/verdict)',
            },
          ],
          paths: [
            { name: 'typebox', message: 'the web app bundles no schema library' },
            { name: 'lit/directives/unsafe-html.js', message: 'render server text as text' },
            { name: 'lit/directives/unsafe-svg.js', message: 'render server text as text' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
