/**
 * Child process of engine-threads.test.ts: starts the threaded wasm build on 2 threads, multiplies, prints one JSON
 * line and returns without any explicit exit. The test fails if the pthread workers keep this process alive.
 */
import * as tf from "@tensorflow/tfjs-core";
import { initEngine } from "../engine.js";

const info = await initEngine({ backend: "wasm", threads: 2, env: {} });
const y = tf.matMul(tf.ones([64, 48]), tf.ones([48, 32]));
const values = await y.data();
process.stdout.write(`${JSON.stringify({ threads: info.threads, first: values[0] })}\n`);
