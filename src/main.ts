import { enableCompileCache, exitOnUnsupportedRuntime } from './config/runtime.js';

// `npm start` runs this file. Before anything else is loaded: an older Node.js gets one line, and
// the modules the server loads next are compiled from (and into) the compile cache.
exitOnUnsupportedRuntime();
enableCompileCache();
await import('./serve.js');
