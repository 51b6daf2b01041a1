// Vite's `?worker&url` import: the URL of the worker bundle Vite builds from the module.
declare module '*?worker&url' {
  const url: string;
  export default url;
}
