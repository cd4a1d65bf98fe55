const firstNames = ['Lucia', 'Hugo', 'Martina', 'Mateo', 'Sofia', 'Leo', 'Paula', 'Daniel'];
const lastNames = ['Garcia', 'Martinez', 'Lopez', 'Sanchez', 'Perez', 'Gomez', 'Ruiz', 'Diaz'];

/** FNV-1a: a stable, well-spread 32-bit hash of a string (not for security). */
function hash(text: string): number {
  let value = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    value ^= text.charCodeAt(index);
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value;
}

/**
 * The rider the mock assigns to an order: the same order always gets the same name and phone,
 * so a replayed or repeated assignment looks the same to the user.
 */
export function riderFor(orderId: string): {
  readonly riderName: string;
  readonly riderPhone: string;
} {
  const value = hash(orderId);
  const first = firstNames[value % firstNames.length] ?? 'Alex';
  const last = lastNames[(value >>> 8) % lastNames.length] ?? 'Garcia';
  const digits = String(value % 100_000_000).padStart(8, '0');
  return {
    riderName: `${first} ${last}`,
    riderPhone: `+34 6${digits.slice(0, 2)} ${digits.slice(2, 5)} ${digits.slice(5)}`,
  };
}
