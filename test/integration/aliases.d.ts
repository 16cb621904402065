// The older framework majors are installed under aliases (package.json: "express4": "npm:express@^4", "koa2":
// "npm:koa@^2"); their types are those of the current major, which is all the tests need.
declare module "express4" {
  import express from "express";
  export default express;
}
declare module "koa2" {
  import Koa from "koa";
  export default Koa;
}
