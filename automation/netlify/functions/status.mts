// A sync function (Netlify Functions v2): served at /api/status on Netlify, and by the manager's
// local runner on sources.netlify.listen while it is on its twin.
import type { Config, Context } from '@netlify/functions';

export default async (req: Request, context: Context) => {
  const role = process.env.REDUNDANCY_ROLE === 'backup' ? 'backup (local runner)' : 'primary (Netlify)';
  return Response.json({ ok: true, servedBy: role, requestId: context.requestId });
};

export const config: Config = {
  path: '/api/status',
};
