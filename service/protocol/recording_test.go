package protocol

import "os"

const recordingPath = "testdata/tmate-2.4.0-start.msgpack"

func readRecording() ([]byte, error) { return os.ReadFile(recordingPath) }
