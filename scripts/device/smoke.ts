// Device smoke check: adapter description and one ReLU round trip on whatever adapter is found.
import { Runtime } from '../../engine/runtime';
import { Tensor } from '../../engine/tensor';
import { relu } from '../../engine/ops/relu';

const rt = await Runtime.create();
console.log('adapter:', rt.describe(), 'timestamps:', rt.gpu.timestamps);
const x = Tensor.fromData(rt, Float32Array.from([-1, 2, -3, 4]), [1, 1, 2, 2], 'x');
console.log('relu:', Array.from(await relu(x).read()));
rt.destroy();
