export * from './actions.js';
export * from './catalog.js';
export * from './config.js';
export * from './engine.js';
export * from './fingerprint.js';
export * from './s3.js';
