// ibot4j gloo-decl: stand-in for <gloo/transport/device.h>.
//
// Why this exists: see gloo/algorithm.h. DECLARES NO DATA MEMBERS: both
// types are left incomplete. ProcessGroupGloo.hpp only holds them through
// std::shared_ptr<Device> (Options::devices, createDefaultDevice(),
// createDeviceForHostname()) and std::unique_ptr<UnboundBuffer> (inside
// SendWork/RecvWork, which are constructed and destroyed in libtorch_cpu.so).
// Devices are created by the exported ProcessGroupGloo::create*Device()
// functions; their shared_ptr control blocks carry the real deleter.
#pragma once

namespace gloo {
namespace transport {

class Device;
class UnboundBuffer;

}  // namespace transport
}  // namespace gloo
