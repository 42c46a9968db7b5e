// Upload a file with tus-js-client under Node, optionally stopping after `stopAt` bytes
// (the "interruption"), then resuming from the URL a previous run printed.
// Usage: node tus_js_upload.mjs ENDPOINT TOKEN FILE [stopAt|-] [resumeUrl|-] [chunkSize]
// Prints one JSON line: {"url": ..., "offset": ...}.
import fs from "node:fs";
import { Upload } from "tus-js-client";

const [endpoint, token, file, stopAt = "-", resumeUrl = "-", chunkSize = "1000000"] = process.argv.slice(2);
const data = fs.readFileSync(file);
const limit = stopAt === "-" ? Infinity : Number(stopAt);

const upload = new Upload(data, {
  endpoint,
  uploadUrl: resumeUrl === "-" ? null : resumeUrl,
  headers: { Authorization: `Bearer ${token}` },
  chunkSize: Number(chunkSize),
  retryDelays: [0, 200, 500],
  metadata: { filename: "bodycam.mp4", filetype: "video/mp4", folder_id: "root" },
  onProgress(sent) {
    if (sent >= limit) {
      upload.abort().then(() => {
        console.log(JSON.stringify({ url: upload.url, offset: sent }));
        process.exit(0);
      });
    }
  },
  onError(error) {
    console.error(String(error));
    process.exit(1);
  },
  onSuccess() {
    console.log(JSON.stringify({ url: upload.url, offset: data.length }));
  },
});
upload.start();
