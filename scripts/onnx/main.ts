// `npm run --silent onnx -- ...` (see cli.ts).
import { runOnnxCli } from './cli';

try {
  runOnnxCli(process.argv.slice(2).filter((a) => a !== '--'));
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
