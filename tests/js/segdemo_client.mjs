// segdemo through Gradio's JavaScript client (@gradio/client), as a web developer calls it; run by
// tests/test_js_client.py against the suite's server:
//
//   npm ci --prefix tests/js                      (scripts/test.sh does it: @gradio/client, and fast-png to read
//   SEGDEMO_URL=http://127.0.0.1:7860/ node tests/js/segdemo_client.mjs          the class map's palette indices)
//
// Checks /segment and /compare end to end: the endpoints and parameter names view_api() gives; a bundled frame
// sent by path, a Buffer and a named File; every output's shape (file objects whose url serves a WebP or PNG,
// {"__type__": "update"} maps with a null value when hidden, figures as JSON, the 11th output a 4-bit palette PNG
// whose indices give figures.classes); same seed, same answer; and that bad input is refused in words through the
// client's Error (no picture, or a picture whose upload the server refused for its size: code "validation_error"
// and a JSON list of per-input checks). Exits 0 when every check passes, 1 otherwise.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Client, handle_file } from "@gradio/client";
import { decode } from "fast-png";

const URL_ = process.env.SEGDEMO_URL ?? "http://127.0.0.1:7860/";
const EXAMPLES = process.env.SEGDEMO_EXAMPLES ?? new URL("../../examples", import.meta.url).pathname;
const FRAME = `${EXAMPLES}/camvid_0006R0_f03570.jpg`;
const NAMES = ["Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian",
  "Bicyclist"];
const started = Date.now();
let failures = 0;

async function check(label, fn) {
  const t = Date.now();
  try {
    await fn();
    console.log(`ok   ${label} (${Date.now() - t} ms)`);
  } catch (error) {
    failures++;
    console.log(`FAIL ${label}: ${error.message}`);
  }
}

async function refusal(call) {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error("the call was not refused");
}

function isFile(value) {
  return value && typeof value === "object" && typeof value.path === "string" && typeof value.url === "string";
}

async function served(file, kind) {
  const response = await fetch(file.url);
  assert.equal(response.status, 200, `${file.url} answered ${response.status}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  const isWebp = bytes.subarray(0, 4).toString("latin1") === "RIFF" && bytes.subarray(8, 12).toString("latin1") === "WEBP";
  const isPng = bytes.subarray(1, 4).toString("latin1") === "PNG";
  assert.ok(kind === "png" ? isPng : isWebp, `${file.orig_name} is not a ${kind}`);
  return bytes;
}

function classShares(png) {  // the class map's indices (4-bit palette: two pixels a byte), as shares of the picture
  assert.equal(png.channels, 1, "the class map is no palette PNG");
  assert.ok(png.palette && png.palette.length === NAMES.length, "the class map's palette is not CamVid's 11 colours");
  const counts = new Array(NAMES.length).fill(0);
  const perByte = 8 / png.depth, rowBytes = Math.ceil(png.width * png.depth / 8), mask = (1 << png.depth) - 1;
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const byte = png.data[y * rowBytes + Math.floor(x / perByte)];
      const index = (byte >> ((perByte - 1 - (x % perByte)) * png.depth)) & mask;
      assert.ok(index < NAMES.length, `class index ${index} out of range`);
      counts[index]++;
    }
  }
  return Object.fromEntries(counts.map((n, i) => [NAMES[i], n / (png.width * png.height)]).filter(([, s]) => s > 0));
}

const client = await Client.connect(URL_);

await check("view_api: /segment and /compare with their parameter names", async () => {
  const api = await client.view_api();
  const params = (name) => api.named_endpoints[name].parameters.map((p) => p.parameter_name);
  assert.deepEqual(params("/segment"), ["image", "model_name", "opacity", "samples", "seed"]);
  assert.deepEqual(params("/compare"), ["image", "opacity", "samples", "seed"]);
  assert.equal(api.named_endpoints["/segment"].returns.length, 11);
  assert.equal(api.named_endpoints["/compare"].returns.length, 14);
  const model = api.named_endpoints["/segment"].parameters[1];
  assert.match(model.python_type.type, /bayesian_segnet_lite/);
  assert.match(model.python_type.type, /fcn8s_lite/);
});

let bayesian;
await check("/segment, Bayesian SegNet, a bundled frame by path", async () => {
  const result = await client.predict("/segment", { image: handle_file(FRAME), model_name: "bayesian_segnet_lite",
    opacity: 0.55, samples: 4, seed: 0 });
  bayesian = result.data;
  const [slider, confidence, band, mutual, classes, legend, info, figures, errors, caption, classMap] = bayesian;
  assert.equal(bayesian.length, 11, "the session's gr.State is left out");
  assert.ok(Array.isArray(slider) && slider.length === 2 && slider.every(isFile), "slider: two file objects");
  for (const file of [...slider, confidence, band]) await served(file, "webp");
  for (const [name, update] of [["mutual_information", mutual], ["errors", errors]]) {
    assert.equal(update.__type__, "update", `${name} is an update`);
    assert.equal(update.visible, true, `${name} is shown`);
    assert.ok(isFile(update.value), `${name}'s value is a file object`);
    await served(update.value, "webp");
  }
  assert.deepEqual(classes.headers, ["Class", "Pixels %", "Mean confidence %"]);
  assert.ok(typeof legend === "string" && typeof info === "string" && typeof caption === "string");
  assert.equal(figures.model, "bayesian_segnet_lite");
  assert.equal(figures.samples, 4);
  assert.equal(figures.seed, 0);
  assert.equal(figures.errors.ground_truth, true);
  assert.ok(figures.errors.error_rate > 0 && figures.errors.error_rate < 1);
  const shares = classShares(decode(new Uint8Array(await served(classMap, "png"))));
  for (const [name, share] of Object.entries(figures.classes)) {
    assert.ok(Math.abs((shares[name] ?? 0) - share) < 1e-6, `${name}: class map ${shares[name]}, figures ${share}`);
  }
});

await check("/segment again, same seed: the same figures and class map", async () => {
  const again = (await client.predict("/segment", { image: handle_file(FRAME), model_name: "bayesian_segnet_lite",
    opacity: 0.55, samples: 4, seed: 0 })).data;
  const { seconds, forward_seconds, handler_seconds, ...stable } = again[7];
  const { seconds: s, forward_seconds: f, handler_seconds: h, ...before } = bayesian[7];
  assert.deepEqual(stable, before);
  assert.ok((await served(again[10], "png")).equals(await served(bayesian[10], "png")));
});

await check("/segment, FCN by its page label, a Buffer: no mutual information", async () => {
  const data = (await client.predict("/segment", { image: handle_file(readFileSync(FRAME)), model_name: "FCN-8s (lite)",
    opacity: 0.5, samples: 8, seed: 5 })).data;
  assert.equal(data[7].model, "fcn8s_lite");
  assert.equal(data[7].samples, 1);
  assert.equal(data[7].seed, null);
  assert.deepEqual([data[3].visible, data[3].value], [false, null]);
  assert.equal(data[10].orig_name, "f03570_class_map_fcn8s_lite.png");
});

await check("/segment, a named File of no bundled frame: no error map", async () => {
  const png = readFileSync(`${EXAMPLES}/camvid_0006R0_f01290_label.png`);  // a picture, though not a street's
  const data = (await client.predict("/segment", { image: new File([png], "mine.png", { type: "image/png" }),
    model_name: "fcn8s_lite" })).data;
  assert.deepEqual([data[8].visible, data[8].value], [false, null]);
  assert.deepEqual(data[7].errors, { ground_truth: false });
});

await check("/compare, a bundled frame", async () => {
  const data = (await client.predict("/compare", { image: handle_file(FRAME), opacity: 0.55, samples: 4, seed: 0 })).data;
  assert.equal(data.length, 14);
  for (const i of [0, 1, 2, 3, 4, 12, 13]) await served(data[i], "webp");
  for (const i of [7, 8, 9]) {
    assert.equal(data[i].visible, true);
    await served(data[i].value, "webp");
  }
  for (const i of [10, 11]) await served(data[i], "png");
  assert.deepEqual(data[5].headers, ["Figure", "FCN", "SegNet", "What it shows"]);
  assert.match(data[6], /disagree on \*\*[\d.]+%\*\*/);
  // the same maps /segment gives at the same samples and seed
  assert.ok((await served(data[11], "png")).equals(await served(bayesian[10], "png")));
});

const bad = { image: handle_file(FRAME), model_name: "fcn8s_lite", opacity: 0.5, samples: 1, seed: 0 };
for (const [label, args, expected] of [
  ["a text file", { ...bad, image: new Blob(["not a picture"], { type: "text/plain" }) }, /not an image we can read/],
  ["a path sent as text", { ...bad, image: FRAME }, /The picture came as text: send it as a file: handle_file/],
  ["a local URL", { ...bad, image: handle_file("http://127.0.0.1:9/x.jpg") }, /private or local address/],
  ["opacity 2", { ...bad, opacity: 2 }, /Overlay opacity: Value 2 is greater than maximum value 1/],
  ["samples 0", { ...bad, samples: 0 }, /Monte-Carlo samples: Value 0 is less than minimum value 1/],
  ["samples 'abc'", { ...bad, samples: "abc" }, /Monte-Carlo samples must be a number, not 'abc'/],
  ["samples 2.5", { ...bad, samples: 2.5 }, /Monte-Carlo samples must be a whole number, not 2.5/],
  ["seed -1", { ...bad, seed: -1 }, /Seed: Value -1 is less than minimum value 0/],
  ["samples true", { ...bad, samples: true }, /Monte-Carlo samples must be a number, not true/],
  ["opacity NaN, which JSON sends as null", { ...bad, opacity: NaN }, /Overlay opacity must be a number, not null/],
  ["an unknown model", { ...bad, model_name: "unet" }, /Model must be one of bayesian_segnet_lite .*fcn8s_lite .*not 'unet'/],
]) {
  await check(`refused in words: ${label}`, async () => {
    const error = await refusal(() => client.predict("/segment", args));
    assert.match(error.message, expected);
    assert.equal(error.stage, "error");
  });
}

await check("refused before the queue: no picture (validation_error, a JSON list)", async () => {
  const error = await refusal(() => client.predict("/segment", { ...bad, image: null }));
  assert.equal(error.code, "validation_error");
  const failed = JSON.parse(error.message).filter((c) => !c.is_valid);
  assert.deepEqual(failed.map((c) => [c.parameter_name, c.message]),
    [["image", "Please upload a picture first (or pick one of the examples)."]]);
});

await check("refused before the queue: a picture over 50 MB, whose upload the client sends empty", async () => {
  // the server answers the upload 413; @gradio/client goes on and sends the picture as {}, which had been taken for
  // no picture ("Please upload a picture first")
  const big = Buffer.concat([readFileSync(FRAME), Buffer.alloc(53 * 1024 * 1024)]);  // a JPEG, padded
  const error = await refusal(() => client.predict("/segment", { ...bad, image: handle_file(big) }));
  assert.equal(error.code, "validation_error");
  const failed = JSON.parse(error.message).filter((c) => !c.is_valid);
  assert.equal(failed.length, 1);
  assert.match(failed[0].message, /came without its file .*upload must have failed.* up to 50 MB/);
});

await check("the server still answers", async () => {
  assert.equal((await client.predict("/segment", { image: handle_file(FRAME) })).data[7].model, "fcn8s_lite");
});

console.log(`${failures ? `${failures} FAILED` : "all passed"} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
// The app has gr.State, so the client holds a heartbeat stream open (and more: client.close() aborts only the
// newest of its streams): a Node script that does not exit itself never ends.
process.exit(failures ? 1 : 0);
