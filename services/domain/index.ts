/** The domain vocabulary: plain names and unions, importing nothing (eslint keeps it so). */
export * from './applications';
export * from './errorCodes';
export * from './hops';
export * from './ids';
export * from './leaves';
export * from './notices';
export * from './parties';
