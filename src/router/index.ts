export { createRouter } from "./router.js";
export { BUCKETS, bucketOf, murmur3, seedOf } from "./hash.js";
