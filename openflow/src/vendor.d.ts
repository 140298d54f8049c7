// binary-parser 2.x ships typings, but its package.json "exports" map hides them from NodeNext
// resolution; point the bare specifier at the shipped declaration file.
declare module 'binary-parser' {
  export { Parser } from 'binary-parser/dist/binary_parser.js';
}
