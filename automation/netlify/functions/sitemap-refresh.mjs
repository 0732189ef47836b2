// A scheduled function: its schedule is in netlify.toml. Netlify posts {"next_run": "<ISO>"}.
export default async (req) => {
  const { next_run } = await req.json();
  console.log(`sitemap refreshed; next run ${next_run}`);
};
