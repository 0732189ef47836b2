/** `12.3 GB`, `512 kB`, `80 B` (SI, as `df -H` and the config's `500MB` read). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : +value.toFixed(1)} ${units[unit]}`;
}
