import { describeBrokerContract } from '@cads/messaging/testing';
import { natsSkipReason, natsUrl, uniqueName } from '@cads/testing';
import { createNatsBroker } from './nats-broker.ts';

describeBrokerContract(
  'NATS JetStream',
  () => {
    // A stream and subject space of its own: the server is shared with other test runs.
    const stream = uniqueName('CADS_CONTRACT');
    const subjectPrefix = uniqueName('contract');
    return Promise.resolve({
      connect: () => createNatsBroker({ servers: natsUrl, stream, subjectPrefix }),
      async dispose() {
        const broker = await createNatsBroker({ servers: natsUrl, stream, subjectPrefix });
        await broker.deleteStream();
        await broker.close();
      },
    });
  },
  { skip: await natsSkipReason() },
);
