import * as compose from '../../dist/daemon/compose.js';
import { planTwins } from '../../dist/kinds/pm2/twin-plan.js';

/** The twin planning the manager does: `planUnitTwins(config, units)` where it exists (twin modes), else `planTwins(units)`. */
export function planFor(config, units) {
  return typeof compose.planUnitTwins === 'function' ? compose.planUnitTwins(config, units) : planTwins(units);
}
