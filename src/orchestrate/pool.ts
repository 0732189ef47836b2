/**
 * Runs `work` over `items` with at most `limit` at once, in order. Once `keepGoing()` is false no
 * new item starts; the ones running finish. Resolves when every started item has finished.
 */
export async function runLimited<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>, keepGoing: () => boolean = () => true): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length && keepGoing()) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}
