/** Where a value sits in the config, key by key (`['units', 'pm2:api', 'probe']`), for one-line errors. */
export type Path = ReadonlyArray<string | number>;
