import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { foodSagaDeclaration } from '@cads/food-saga';
import { paymentStep } from '@cads/payment/contracts';
import { restaurantStep } from '@cads/restaurant/contracts';
import { riderStep } from '@cads/rider/contracts';
import { defineSaga, type SagaDeclaration, sagaGraph } from '@cads/saga';
import { afterEach, describe, expect, it } from 'vitest';
import { regenerate, sagaPage, sagaPagePath, withReadmeBlock } from './saga-docs.ts';
import { runSaga, type SagaCommandOptions } from './saga-command.ts';
import { diagramHosts, readmeSaga, repositorySagas as loadRepositorySagas } from './sagas.ts';

const repositorySagas = await loadRepositorySagas();

/** `cads saga …` in this process, its output captured. */
async function saga(args: readonly string[], options?: SagaCommandOptions) {
  let stdout = '';
  let stderr = '';
  const code = await runSaga(
    args,
    {
      stdout: (text) => void (stdout += text),
      stderr: (text) => void (stderr += text),
      env: {},
      cwd: process.cwd(),
    },
    options,
  );
  return { code, stdout, stderr };
}

/** The food saga with other steps: each broken one makes one kind of mistake. */
const food = (name: string, steps: SagaDeclaration['steps']): SagaDeclaration => ({
  ...foodSagaDeclaration,
  name,
  steps,
});

const root = new URL('../../../', import.meta.url);
const readText = (path: string) => readFile(new URL(path, root), 'utf8');

describe('cads saga check', () => {
  it('finds every saga of the repository sound', async () => {
    const { code, stdout } = await saga(['check']);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual(
      repositorySagas.map((declaration) => `${declaration.name}: ok (3 steps)`),
    );
  });

  it.each([
    {
      mistake: 'a step with no compensation before one that can fail',
      steps: [restaurantStep, { ...riderStep, compensation: undefined }, paymentStep],
      line:
        'no-undo: when payment fails (payment_cancelled), rider has succeeded and stays done: ' +
        'it declares no compensation [uncompensated]',
    },
    {
      mistake: 'a step after one that does not exist',
      steps: [restaurantStep, riderStep, { step: paymentStep, after: 'courier' }],
      line:
        'no-producer: step payment follows courier, which is not a step of the saga: its ' +
        'trigger event has no producer [no-producer]',
    },
    {
      mistake: 'steps that follow each other in a cycle',
      steps: [
        restaurantStep,
        { step: riderStep, after: 'payment' },
        { step: paymentStep, after: 'rider' },
      ],
      line: 'cycle: steps payment → rider → payment follow each other in a cycle [cycle]',
    },
    {
      mistake: 'two steps after the same one',
      steps: [restaurantStep, riderStep, { step: paymentStep, after: 'restaurant' }],
      line:
        'fork: rider and payment both follow step restaurant: a saga is one chain of steps, ' +
        'each triggered by the success of the one before [fork]',
    },
    {
      mistake: 'a step no chain of successes leads to',
      steps: [restaurantStep, riderStep, { step: paymentStep, after: 'restaurant' }],
      line:
        'unreachable: step payment is unreachable from the start event order_created: no ' +
        'chain of successes leads to it [unreachable]',
    },
    {
      mistake: 'an input the event before does not carry',
      steps: [riderStep, restaurantStep, paymentStep],
      line:
        'not-carried: step rider needs priceCents (integer), which its trigger event ' +
        'order_created does not carry [input-not-carried]',
    },
    {
      mistake: 'a step declared twice',
      steps: [restaurantStep, riderStep, riderStep, paymentStep],
      line: 'twice: step rider is declared twice [duplicate-step]',
    },
    {
      mistake: 'a failure without its reason field',
      steps: [
        restaurantStep,
        riderStep,
        { ...paymentStep, failure: { ...paymentStep.failure, reasonField: 'why' } },
      ],
      line: 'no-reason: payment_cancelled has no field why to carry the reason [missing-reason-field]',
    },
  ])('exits 1 on $mistake, one line per problem', async ({ line, steps }) => {
    const name = line.slice(0, line.indexOf(':'));
    const { code, stdout, stderr } = await saga(['check'], { sagas: [food(name, steps)] });
    expect(code).toBe(1);
    expect(stdout.split('\n')).toContain(line);
    expect(stderr).toMatch(new RegExp(`^cads saga: \\d+ problems? in 1 of 1 saga\\n$`));
  });

  it('reports each saga on its own lines, sound or not', async () => {
    const broken = food('broken', [paymentStep]);
    const { code, stdout } = await saga(['check'], { sagas: [foodSagaDeclaration, broken] });
    expect(code).toBe(1);
    expect(stdout).toMatch(/^food-delivery: ok \(3 steps\)\nbroken: step payment needs /);
  });

  it('refuses unknown commands and arguments', async () => {
    expect((await saga(['verify'])).code).toBe(2);
    expect((await saga(['check', 'extra'])).code).toBe(2);
    expect((await saga(['check', '--out', 'x.md'])).code).toBe(2);
    expect((await saga([])).stderr).toMatch(/^cads saga: check or graph\?/);
  });
});

describe('saga diagrams in docs/ and the README', () => {
  const stale = `stale: run ${regenerate}`;

  it('match each saga map (regenerate with `npm run saga:graph`)', async () => {
    for (const declaration of repositorySagas) {
      const map = defineSaga(declaration);
      const page = await readText(sagaPagePath(map)).catch(() => '(missing)');
      expect(page, `${sagaPagePath(map)} is ${stale}`).toBe(sagaPage(map));
    }
    const pages = (await readdir(new URL('docs/sagas/', root))).map((file) => `docs/sagas/${file}`);
    expect(pages.sort(), `docs/sagas/ has a page of no saga: delete it, or ${stale}`).toEqual(
      repositorySagas.map((declaration) => sagaPagePath(declaration)).sort(),
    );
  });

  it("include the food saga's diagram in the README and docs/saga-map.md", async () => {
    const shown = repositorySagas.find((declaration) => declaration.name === readmeSaga);
    expect(shown).toBeDefined();
    for (const host of diagramHosts) {
      const text = await readText(host);
      expect(text, `the saga diagram in ${host} is ${stale}`).toBe(
        withReadmeBlock(text, defineSaga(shown!), host),
      );
    }
  });
});

describe('cads saga graph', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('writes each page and the README block, then finds them up to date', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cads-saga-graph-'));
    await writeFile(
      join(dir, 'README.md'),
      '# x\n\n<!-- saga-graph:begin -->\nold\n<!-- saga-graph:end -->\n\nmore\n',
    );
    const first = await saga(['graph'], { root: dir, hosts: ['README.md'] });
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toBe(
      'cads saga graph: wrote docs/sagas/food-delivery.md, docs/sagas/trip-booking.md, README.md\n',
    );
    const map = defineSaga(foodSagaDeclaration);
    expect(await readFile(join(dir, 'docs/sagas/food-delivery.md'), 'utf8')).toBe(sagaPage(map));
    const readme = await readFile(join(dir, 'README.md'), 'utf8');
    expect(readme).toContain(`<!-- saga-graph:begin -->\n\n\`\`\`mermaid\n${sagaGraph(map)}\`\`\``);
    expect(readme).toMatch(/<!-- saga-graph:end -->\n\nmore\n$/);
    expect((await saga(['graph'], { root: dir, hosts: ['README.md'] })).stdout).toBe(
      'cads saga graph: every diagram is up to date\n',
    );
  });

  it('draws no unsound saga: it reports it as check does', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cads-saga-graph-'));
    const { code, stdout } = await saga(['graph'], {
      root: dir,
      sagas: [food('broken', [paymentStep])],
    });
    expect(code).toBe(1);
    expect(stdout).toMatch(/^broken: step payment needs /);
    expect(await readdir(dir)).toEqual([]);
  });

  it('writes one saga where --out says: Mermaid text, or a page for .md', async () => {
    const printed = await saga(['graph', '--out', '-', '--saga', 'food-delivery']);
    expect(printed).toMatchObject({ code: 0, stdout: sagaGraph(defineSaga(foodSagaDeclaration)) });
    dir = await mkdtemp(join(tmpdir(), 'cads-saga-graph-'));
    const out = join(dir, 'food.md');
    expect((await saga(['graph', '--out', out, '--saga', 'food-delivery'])).code).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(sagaPage(defineSaga(foodSagaDeclaration)));
    expect((await saga(['graph', '--out', out, '--saga', 'nothing'])).code).toBe(2);
    expect((await saga(['graph', '--saga', 'food-delivery'])).code).toBe(2);
  });
});
