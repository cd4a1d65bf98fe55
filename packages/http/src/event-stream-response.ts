/**
 * The documented 200 of a route answering with `openEventStream`: a `text/event-stream` body,
 * for `schema.response[200]`. Documentation only: the stream is written on the hijacked reply,
 * so Fastify never serializes with it.
 */
export function eventStreamResponse(description: string) {
  return {
    description,
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  } as const;
}
