"""DICOMweb (STOW-RS, QIDO-RS, WADO-RS) on the emulator\x27s DICOM stores."""
