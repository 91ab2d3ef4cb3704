// MixcoreCrash: passes audio through unchanged, until
//   crash = on         the next processBlock dereferences a null pointer (a real segfault);
//   crash_on_set = on  the plugin segfaults at once, inside the host's call that sets the parameter;
//   hang = on          the next processBlock spins forever.
// With MIXCORE_TEST_CRASH_ON_LOAD / MIXCORE_TEST_HANG_ON_LOAD set it crashes or hangs while loading.
// Used by mixcore's plugin-isolation and scanning tests: the host process must survive all of them.
#include <juce_audio_processors/juce_audio_processors.h>

class CrashPlugin final : public juce::AudioProcessor,
                          private juce::AudioProcessorValueTreeState::Listener
{
public:
    CrashPlugin()
        : AudioProcessor (BusesProperties().withInput ("Input", juce::AudioChannelSet::stereo(), true)
                                           .withOutput ("Output", juce::AudioChannelSet::stereo(), true)),
          state (*this, nullptr, "state", makeLayout())
    {
        crash = state.getRawParameterValue ("crash");
        hang = state.getRawParameterValue ("hang");
        state.addParameterListener ("crash_on_set", this);
        // for the scanner's tests: crash or hang while loading
        if (std::getenv ("MIXCORE_TEST_CRASH_ON_LOAD") != nullptr)
        {
            volatile int* nothing = nullptr;
            *nothing = 1;
        }
        while (std::getenv ("MIXCORE_TEST_HANG_ON_LOAD") != nullptr)
            juce::Thread::sleep (10);
    }

    static juce::AudioProcessorValueTreeState::ParameterLayout makeLayout()
    {
        juce::AudioProcessorValueTreeState::ParameterLayout layout;
        layout.add (std::make_unique<juce::AudioParameterBool> (juce::ParameterID { "crash", 1 }, "Crash", false));
        layout.add (std::make_unique<juce::AudioParameterBool> (juce::ParameterID { "hang", 1 }, "Hang", false));
        layout.add (std::make_unique<juce::AudioParameterBool> (juce::ParameterID { "crash_on_set", 1 },
                                                                "Crash On Set", false));
        return layout;
    }

    const juce::String getName() const override { return "MixcoreCrash"; }
    bool acceptsMidi() const override { return false; }
    bool producesMidi() const override { return false; }
    double getTailLengthSeconds() const override { return 0.0; }
    int getNumPrograms() override { return 1; }
    int getCurrentProgram() override { return 0; }
    void setCurrentProgram (int) override {}
    const juce::String getProgramName (int) override { return "default"; }
    void changeProgramName (int, const juce::String&) override {}
    bool hasEditor() const override { return false; }
    juce::AudioProcessorEditor* createEditor() override { return nullptr; }
    void prepareToPlay (double, int) override {}
    void releaseResources() override {}

    void processBlock (juce::AudioBuffer<float>&, juce::MidiBuffer&) override
    {
        if (crash->load() > 0.5f)
        {
            volatile int* nothing = nullptr;
            *nothing = 42;  // segfault, on purpose
        }
        while (hang->load() > 0.5f)
            juce::Thread::sleep (10);
    }

    ~CrashPlugin() override { state.removeParameterListener ("crash_on_set", this); }

    void parameterChanged (const juce::String&, float value) override
    {
        if (value > 0.5f)
        {
            volatile int* nothing = nullptr;
            *nothing = 7;  // segfault inside the host's setParameter call, on purpose
        }
    }

    void getStateInformation (juce::MemoryBlock& dest) override
    {
        if (auto xml = state.copyState().createXml())
            copyXmlToBinary (*xml, dest);
    }

    void setStateInformation (const void* data, int size) override
    {
        if (auto xml = getXmlFromBinary (data, size))
            state.replaceState (juce::ValueTree::fromXml (*xml));
    }

private:
    juce::AudioProcessorValueTreeState state;
    std::atomic<float>* crash = nullptr;
    std::atomic<float>* hang = nullptr;
};

juce::AudioProcessor* JUCE_CALLTYPE createPluginFilter() { return new CrashPlugin(); }
