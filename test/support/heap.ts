// What this process's heap holds, from a heap snapshot of it (which collects the heap first): for
// tests that count objects of a kind, such as copies of one string.
import v8 from 'node:v8';

/** Every object on the heap: its type ("string", "hidden", "concatenated string", …) and its name (a string's text). */
export async function heapObjects(): Promise<{ type: string; name: string }[]> {
  const snapshot = JSON.parse(
    await new Promise<string>((resolve, reject) => {
      const parts: Buffer[] = [];
      v8.getHeapSnapshot().on('data', (d: Buffer) => parts.push(d)).on('end', () => resolve(Buffer.concat(parts).toString())).on('error', reject);
    }),
  ) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const { node_fields: fields, node_types: [types] } = snapshot.snapshot.meta;
  const [type, name] = [fields.indexOf('type'), fields.indexOf('name')];
  const objects: { type: string; name: string }[] = [];
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) objects.push({ type: types[snapshot.nodes[i + type]], name: snapshot.strings[snapshot.nodes[i + name]] });
  return objects;
}
