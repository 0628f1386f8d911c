// The request bodies every row sends: "small" is a bodiless GET (13-byte answer), "16k" a POST
// of 16 KiB answered with 16 KiB. gRPC echoes the same sizes.

export type Payload = 'small' | '16k';
export const PAYLOADS: readonly Payload[] = ['small', '16k'];

export const REQUEST_BODY: Record<Payload, Buffer> = {
  small: Buffer.from('hello, world\n'),
  '16k': Buffer.alloc(16 * 1024, 'y'),
};
