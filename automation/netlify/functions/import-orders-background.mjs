// A background function (the -background suffix): the caller gets 202 at once, the work runs up to 15 min.
export default async (req) => {
  const orders = await req.json().catch(() => []);
  console.log(`importing ${Array.isArray(orders) ? orders.length : 0} orders`);
};
