// A frame built in the order tests think of it: type, id, body, then the header's extra args.
#pragma once

#include "engine/frame_codec.h"

#include <string>
#include <vector>

namespace surge::engine {

inline Frame makeFrame(std::string type, std::string id, std::string body = "", std::vector<std::string> args = {}) {
  Frame frame;
  frame.type = std::move(type);
  frame.id = std::move(id);
  frame.body = std::move(body);
  frame.args = std::move(args);
  return frame;
}

} // namespace surge::engine
