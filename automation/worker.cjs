// A background worker: does a unit of work every few seconds and logs it.
const role = process.env.REDUNDANCY_ROLE || 'primary';
let jobs = 0;
setInterval(() => {
  jobs += 1;
  console.log(`worker (${role}) finished job ${jobs}`);
}, Number(process.env.WORK_EVERY_MS || 5000));
