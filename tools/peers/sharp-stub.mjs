// Stands in for `sharp` in the device bundle of the bench (tools/stage-peers-device.sh): transformers.js imports it
// for images, which the peers bench never reads.
export default function sharp() {
  throw new Error('sharp is not bundled for the device (the peers bench reads no image)');
}
